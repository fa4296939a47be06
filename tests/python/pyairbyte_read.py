"""Runs one Lakeport source through PyAirbyte (PyPI `airbyte`), a client the
project did not write, the way its users do:

    source = airbyte.get_source(name, config=..., local_executable=...)
    source.check(); source.select_all_streams(); source.read()   # default DuckDB cache

then reads again from the same cache (PyAirbyte passes the states it kept back
to the source) to see what the second run moves.

    pyairbyte_read.py JOB.json

JOB: {"name", "executable", "config", "work_dir", "force_full_refresh" (false),
      "second_read" (true)}.
Prints one line `LAKEPORT_RESULT {json}` with the streams' row counts in the cache
after the first read, the records each read processed, and the state PyAirbyte
kept. Must run with AIRBYTE_OFFLINE_MODE=1 (no registry lookup) and
AIRBYTE_PROJECT_DIR / AIRBYTE_CACHE_ROOT pointing at a writable directory;
the Rust test sets them.
"""
import json
import sys

import airbyte as ab


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    source = ab.get_source(
        job["name"],
        config=job["config"],
        local_executable=job["executable"],
        install_if_missing=False,
    )
    source.check()
    source.select_all_streams()
    cache = ab.get_default_cache()
    force = bool(job.get("force_full_refresh", False))

    first = source.read(cache=cache, force_full_refresh=force)
    counts = {name: len(dataset) for name, dataset in first.streams.items()}
    columns = {
        name: sorted(c for c in dataset.to_pandas().columns if not c.startswith("_airbyte"))
        for name, dataset in first.streams.items()
    }
    result = {
        "streams": counts,
        "columns": columns,
        "processed": first.processed_records,
    }
    if job.get("second_read", True):
        second = source.read(cache=cache, force_full_refresh=force)
        result["second_processed"] = second.processed_records
        result["second_streams"] = {name: len(dataset) for name, dataset in second.streams.items()}
    states = cache.get_state_provider(source_name=source.name).stream_state_artifacts
    result["states"] = [json.loads(s.model_dump_json(exclude_none=True)) if hasattr(s, "model_dump_json") else str(s) for s in states]
    print("LAKEPORT_RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
