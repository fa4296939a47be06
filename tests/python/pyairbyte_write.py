"""Writes a Lakeport source into a Lakeport destination through PyAirbyte
(PyPI `airbyte`), the way its users do:

    source = airbyte.get_source(name, config=..., local_executable=...)
    destination = airbyte.get_destination(name, config=..., local_executable=...)
    destination.write(source)                          # through the default DuckDB cache
    destination.write(source, cache=False, state_cache=False)   # straight from the source

    pyairbyte_write.py JOB.json

JOB: {"source": {"name", "executable", "config"},
      "destination": {"name", "executable", "config"},
      "cache": true|false, "checks": N (1)}.
Writes once (a full refresh of every stream) and prints one line
`LAKEPORT_RESULT {json}` with the records PyAirbyte counted and the catalog
it sent (its generation fields). First checks the destination N times (PyAirbyte
stops reading at CONNECTION_STATUS and terminates the process; it accepts
exit 0 or death by SIGTERM). Must run with AIRBYTE_OFFLINE_MODE=1; the Rust
test sets it.
"""
import json
import sys

import airbyte as ab
from airbyte.shared.catalog_providers import CatalogProvider


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    src, dst = job["source"], job["destination"]
    source = ab.get_source(
        src["name"], config=src["config"], local_executable=src["executable"], install_if_missing=False
    )
    source.select_all_streams()
    destination = ab.get_destination(
        dst["name"], config=dst["config"], local_executable=dst["executable"], install_if_missing=False
    )
    for _ in range(int(job.get("checks", 1))):
        destination.check()
    if job.get("cache", True):
        result = destination.write(source, force_full_refresh=True)
    else:
        result = destination.write(source, cache=False, state_cache=False, force_full_refresh=True)
    catalog = CatalogProvider(source.get_configured_catalog()).configured_catalog
    print(
        "LAKEPORT_RESULT "
        + json.dumps(
            {
                "processed": result.processed_records,
                "generations": [
                    {
                        "stream": s.stream.name,
                        "generation_id": s.generation_id,
                        "minimum_generation_id": s.minimum_generation_id,
                    }
                    for s in catalog.streams
                ],
            },
            default=str,
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
