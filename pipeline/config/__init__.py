"""voronka.yaml → typed, validated objects. The only place that reads the config file.

Every mistake is reported with the key path and the line it stands on, so an operator
can fix the file without reading code. The file is capped in size, a key given twice in
one mapping is an error (YAML would keep the last one silently), and relative paths stay
inside the config's folder (a folder elsewhere is named by an absolute path, on purpose).

- `base`: the error type, the strict base model, slug/path/time zone rules
- `sources`: `sources:`, one export each, and the no-silent-keys check against its preset
- `funnels`: `funnels:`, their stages, segments, plan and recipients
- `settings`: the other top-level sections and `Config`, with the checks between entries
- `loading`: `load_config`, the YAML reading and the mistakes with their lines
"""

from pipeline.config.base import SLUG, SUPPORTED_LOCALES, ConfigError, LocalizedName
from pipeline.config.funnels import (
    BUILTIN_SEGMENT_TYPES,
    CallRule,
    CrmStageName,
    CustomSegment,
    Funnel,
    FunnelCalls,
    FunnelCrm,
    Plan,
    Recipient,
    Segment,
    Stage,
)
from pipeline.config.loading import MAX_CONFIG_BYTES, load_config
from pipeline.config.settings import (
    CallsSettings,
    Config,
    Delivery,
    Manager,
    Paths,
    Privacy,
    Quality,
    Schedule,
    normalize_person_name,
)
from pipeline.config.sources import ConstantStage, Formats, Source, StatusValues

__all__ = [
    "BUILTIN_SEGMENT_TYPES",
    "MAX_CONFIG_BYTES",
    "SLUG",
    "SUPPORTED_LOCALES",
    "CallRule",
    "CallsSettings",
    "Config",
    "ConfigError",
    "ConstantStage",
    "CrmStageName",
    "CustomSegment",
    "Delivery",
    "Formats",
    "Funnel",
    "FunnelCalls",
    "FunnelCrm",
    "LocalizedName",
    "Manager",
    "Paths",
    "Plan",
    "Privacy",
    "Quality",
    "Recipient",
    "Schedule",
    "Segment",
    "Source",
    "Stage",
    "StatusValues",
    "load_config",
    "normalize_person_name",
]
