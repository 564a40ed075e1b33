"""Text that looks the same compares the same: names without invisible characters.

Exports carry NUL bytes and invisible format characters (zero-width spaces and joiners,
the soft hyphen, the BOM, bidirectional marks and overrides such as RLO) that no one sees
and that make "Anna Smirnova" two managers, or reverse a printed name. Names are also
brought to Unicode's compatibility form (NFKC: fullwidth `Ａｎｎａ` is `Anna`).
"""

from __future__ import annotations

import re
import unicodedata

# U+0000 NUL, U+00AD soft hyphen, U+061C Arabic letter mark, U+180E Mongolian vowel
# separator, U+200B–U+200F zero-width space/non-joiner/joiner and LRM/RLM, U+202A–U+202E
# bidi embeddings and overrides, U+2060–U+2064 word joiner and invisible operators,
# U+2066–U+2069 bidi isolates, U+FEFF BOM / zero-width no-break space. (A regex class
# both Python's re and polars read.)
INVISIBLE = "[\u0000\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
_INVISIBLE = re.compile(INVISIBLE)


def visible(text: str) -> str:
    """`text` without its invisible characters."""
    return _INVISIBLE.sub("", text)


def display_name(text: str) -> str:
    """A person's name as shown: NFKC, no invisible characters, single spaces, trimmed."""
    return " ".join(visible(unicodedata.normalize("NFKC", text)).split())
