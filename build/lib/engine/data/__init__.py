"""Input data: the documented schema, loaders (Complete Journey, Parquet/CSV), validation, margins, tiers,
and a synthetic generator. Knows none of its consumers."""
