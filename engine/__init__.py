"""Personalized offer engine: weekly star challenges for loyalty members.

Data flows one way: data -> features -> train -> candidates -> rules -> challenge -> serve -> events
-> experiments. See README.md for the two commands and ../shared/DOMAIN.md for what the product is for.

Redis, shared by serving and the experiment event store: ``redis_config`` (where Redis is: one node or a
cluster, TLS), ``redis_connect`` (the only place clients are built), ``redis_slots`` (member buckets by
hash tag, so each Lua script touches one slot), ``redis_wire`` / ``redis_wire_cluster`` (the lean hot-path
connection, routed by slot on a cluster), ``redis_errors`` (one mapping of Redis errors to ours).
"""

__version__ = "0.1.0"
