"""The workspace's canonical tables on Ibis's PySpark backend, in local mode.

DESIGN.md promises that the metric code (Ibis expressions) runs unchanged on a distributed
engine. The test suite proves it with a real one that works offline: Spark in local mode
(``local[2]``, Java 17). :func:`spark_backend` copies the named DuckDB tables into Spark temp
views of the same names and types and returns an Ibis backend over them, so
``Engine(spark_backend(con, timezone=..., tables=CANONICAL_INPUTS), settings)`` computes the
same metrics as ``Engine.for_workspace(ws)``.

It is a test and proof-of-concept tool, not the way to run funnelboard on a Spark cluster:
there the canonical tables already live in the metastore and a user connects Ibis to the
cluster's session (docs/warehouses.md).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

#: Settings of the local session. Spark's defaults suit a cluster, not a test run: 200 shuffle
#: partitions (a task each, for a few rows), a web UI on port 4040, a ``spark-warehouse``
#: folder in the working directory, INFO logs on stderr.
LOCAL_CONF: dict[str, str] = {
    "spark.master": "local[2]",
    "spark.app.name": "funnelboard",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # loopback only: no lookup of the machine's host name, nothing listens on other interfaces
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # the catalog lives in memory (no Hive metastore, no Derby database)
    "spark.sql.catalogImplementation": "in-memory",
    # results come back to pandas through Arrow (columnar) instead of pickled rows
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
}

#: JVM options for a short-lived local driver running a few dozen tiny queries: C1-only JIT
#: and the serial collector halve the JVM's CPU time (measured: 16 s instead of 32 s for the
#: Spark tests' workload on 2 CPUs), which matters on small CI machines.
JVM_OPTIONS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

_lock = threading.Lock()
_session: Any = None
_scratch: Path | None = None


def _log4j_config(folder: Path) -> Path:
    """A log4j2 configuration that keeps the JVM quiet from its first line (``setLogLevel``
    comes after the start-up messages): Hadoop's "native library" warning is hidden, other
    warnings show until the session is up, then only errors. The root level is WARN, not
    ERROR, because a shell whose root level differs from WARN prints a "Setting default log
    level" banner."""
    path = folder / "log4j2.properties"
    path.write_text(
        "rootLogger.level = warn\n"
        "rootLogger.appenderRef.stderr.ref = console\n"
        "logger.hadoop.name = org.apache.hadoop\n"
        "logger.hadoop.level = error\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex\n",
        encoding="utf-8")
    return path


def _session_or_start() -> Any:
    """The process's local SparkSession, started on first use (starting the JVM takes several
    seconds, so one session serves every :func:`spark_backend` call until :func:`stop_spark`).
    """
    global _session, _scratch
    with _lock:
        if _session is not None and not _session_stopped(_session):
            return _session
        from pyspark.sql import SparkSession

        scratch = Path(tempfile.mkdtemp(prefix="funnelboard-spark-"))
        log_config = _log4j_config(scratch)
        java_opts = " ".join((
            *JVM_OPTIONS,
            f"-Dderby.system.home={scratch / 'derby'}",
            f"-Dlog4j2.configurationFile={log_config.as_uri()}",
            f"-Djava.io.tmpdir={scratch / 'tmp'}"))
        (scratch / "tmp").mkdir()
        # Spark's scratch space (spark.local.dir) defaults to java.io.tmpdir, set above
        # the Python workers (UDFs) must be this interpreter, not whatever "python3" is
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder
        conf = {
            **LOCAL_CONF,
            "spark.sql.warehouse.dir": (scratch / "warehouse").as_uri(),
            "spark.jars.ivy": str(scratch / "ivy"),
            "spark.driver.extraJavaOptions": java_opts,
        }
        for key, value in conf.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        _session, _scratch = session, scratch
        return session


def _session_stopped(session: Any) -> bool:
    context = session.sparkContext
    return context._jsc is None or bool(context._jsc.sc().isStopped())


def _arrow_for_spark(table: pa.Table) -> pa.Table:
    """Arrow types Spark accepts: extension types (DuckDB's JSON may come as one) become their
    storage type, so JSON columns arrive as strings. Time-zone-aware timestamps stay as they
    are: Spark reads them as TIMESTAMP (an instant), whatever the zone attached."""
    fields = []
    for field in table.schema:
        kind = field.type
        if isinstance(kind, pa.ExtensionType):
            kind = kind.storage_type
        fields.append(pa.field(field.name, kind, field.nullable))
    schema = pa.schema(fields)
    return table if schema.equals(table.schema) else table.cast(schema)


def spark_backend(con_duckdb: duckdb.DuckDBPyConnection, *, timezone: str,
                  tables: Iterable[str]) -> ibis.BaseBackend:
    """An Ibis PySpark backend whose temp views are copies of DuckDB tables.

    Starts (or reuses) the local session, connects Ibis to it and registers each table of
    ``tables`` as a temp view of the same name: TIMESTAMPTZ becomes Spark TIMESTAMP holding
    the same instant, DECIMAL stays DECIMAL, JSON becomes STRING. The session time zone is
    set to ``timezone`` *after* connecting, because ``ibis.pyspark.connect`` sets it to UTC,
    and the metric engine relies on it: ``CAST(ts AS DATE)`` is the date in the session zone,
    exactly as on DuckDB with ``SET TimeZone``.

    The time zone is a setting of the one shared session, so the last call's zone applies
    to every backend returned so far. The data goes through Arrow in the driver: meant for
    test-sized tables.
    """
    session = _session_or_start()
    backend = ibis.pyspark.connect(session)
    session.conf.set("spark.sql.session.timeZone", timezone)
    for name in tables:
        data = _arrow_for_spark(con_duckdb.table(name).to_arrow_table())
        frame = session.createDataFrame(data)
        frame.createOrReplaceTempView(name)
    return backend


def stop_spark() -> None:
    """Stop the local session (its JVM goes with the Python process anyway) and remove its
    scratch folder. The next :func:`spark_backend` starts a new one."""
    global _session, _scratch
    with _lock:
        if _session is not None:
            _session.stop()
        if _scratch is not None:
            shutil.rmtree(_scratch, ignore_errors=True)
        _session, _scratch = None, None
