"""Near-duplicate matching against reference corpora of known provider outputs.

Some provider output carries no textual fingerprint; it can still be found
by matching records against reference outputs (a team's own API logs, public
datasets known to be distilled). The pieces, in data-flow order:

* `shingles`   normalisation, word / character n-grams, vectorised hashing
* `minhash`    datasketch-compatible MinHash signatures
* `lsh`        banding chosen from a threshold and a miss budget; sorted tables
* `index`      the index and its file format (docs/index-format.md)
* `references` which text of a reference record is indexed, under which provider
* `store`, `redis_store`  index locations: files, or a shared index in Redis
* `detector`   `NearDupDetector.detect(record) -> list[Hit]`, and `severity_for`

The engine's use:

    detector = NearDupDetector(open_indexes(locations), registry)
    for record, hits in detector.detect_stream(records): ...
"""
from __future__ import annotations

from tos_lint.neardup.detector import (
    RULE_CONTAINMENT, RULE_IDS, RULE_MATCH, DetectorOptions, NearDupDetector, describe, finding_fields, severity_for,
)
from tos_lint.neardup.index import IndexBuilder, IndexData, IndexParams, load_index, write_index
from tos_lint.neardup.store import open_indexes

__all__ = [
    "RULE_CONTAINMENT", "RULE_IDS", "RULE_MATCH", "DetectorOptions", "IndexBuilder", "IndexData", "IndexParams",
    "NearDupDetector", "describe", "finding_fields", "load_index", "open_indexes", "severity_for", "write_index",
]
