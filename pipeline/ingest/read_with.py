"""What a file was read with: a digest of every setting of voronka.yaml that changes how
ingest reads a source's files (the source's own keys but its `files` glob, the zone it
falls back to, the managers and their aliases, the phone hash key, the plausible years).
Each loaded file's ledger row keeps it (`files.read_with`); when the digest of its source
changes, plan_ingest reads the file again, if it is still in the inbox, so a setting
changed later applies to every file, not only to the ones that arrive after it. The phone
hash key counts too: a site whose runs see different keys (an environment variable set
for one scheduler and not another) reads every file again at each switch."""

from __future__ import annotations

import hashlib
import json

from pipeline.config import Config, Source

# What the readers themselves are: raise it with a change to pipeline/sources or
# pipeline/transform that lands other rows from the same file and settings (a value read
# where it was rejected, or read otherwise), so that every loaded file is read again.
# 2: `1.500` with a decimal comma, a Twilio leg under its parent's sid, a workbook's
# merged cells, a totals row, a record lacking only unnamed last columns.
# 3: HubSpot's `Date entered` values of a pipeline the deal left; a Twilio leg as a copy of
# its client's call, which is answered only through a leg.
READERS_VERSION = 3


def reading_digest(config: Config, source: Source) -> str:
    own = source.model_dump(mode="json", exclude={"files"})
    # lists whose order reads nothing differently
    own["status"] = {outcome: sorted(names) for outcome, names in own["status"].items()}
    own["own_lines"] = sorted(own["own_lines"])
    settings = {
        "readers": READERS_VERSION,
        "source": own,
        "timezone": config.source_timezone(source),
        "managers": sorted(config.manager_aliases().items()),
        # the key itself never reaches the ledger: only a digest of a digest of it
        "phone_hash_key": hashlib.sha256(config.phone_hash_key().encode()).hexdigest(),
        "years": [config.quality.min_year, config.quality.max_year],
    }
    text = json.dumps(settings, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def source_digests(config: Config) -> dict[str, str]:
    """reading_digest of every configured source, by name (once per run, not per file)."""
    return {source.name: reading_digest(config, source) for source in config.sources}
