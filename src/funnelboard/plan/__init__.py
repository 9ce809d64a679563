"""The reverse-funnel planner and the plan-vs-actual report card (metrics.md §7, S4-1…S4-9).

* :mod:`~funnelboard.plan.model`: the plan arithmetic as pure functions (no workspace);
* :mod:`~funnelboard.plan.history`: trailing rates, stage lags, deal size, goal shares,
  seasonal weights and the referral flywheel read from a workspace through the metric engine;
* :mod:`~funnelboard.plan.report`: the year-to-date report card (actual vs plan);
* :mod:`~funnelboard.plan.io`: CSV and XLSX output, and the plan as ``targets`` rows.

See docs/planning.md.
"""
