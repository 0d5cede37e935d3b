"""Serving: the HTTP service the app backend asks for a member's weekly challenge.

Start it with ``offers serve`` (embedded store, no server needed) or ``offers serve --store redis``;
publish a trained model into Redis with ``offers publish``. Request flow, outermost first::

    hotpath.HotPath      times every request; answers well-formed challenge GETs (read key checked)
    app / routes         FastAPI: OpenAPI, validation, batch, health, readiness, metrics, admin
    auth / deps          API keys with scopes (read, purchases, signals, metrics, admin); route guards
    purchases / signals  which till purchases count (the running week) and member signals' weeks
    purchase_categories  each purchased item's category from the issuing version's catalog (the
                         stretch pick is a category: any product of it counts)
    issuance             challenge_for(): issued-once-per-week logic, rules applied at issuance
    issuer               the Issuer (issuance's dependencies, built once) and its hooks
    experiment           A/B experiments ([experiments] in serve.toml): arm per member-week, exposures,
                         purchase events and progress in the experiment event store (SQLite default)
    baseline             the experiment's baseline arm: most-bought products + popular new category
    rules_watch          the last good rules, reloaded on file change or admin call
    recall               history blobs; serving again an answer the online store lost (from experiments)
    store                the Store protocols: embedded.EmbeddedStore (SQLite file; its versions in
                         embedded_versions) | redis_store.RedisStore
                         (one Redis node or a Redis Cluster, TLS; its Lua scripts in redis_scripts, the
                         bucketed, pipelined record loader in redis_load)
    recovery             publish the champion at start-up and whenever the store comes back empty
    publish              artifact directory -> per-member records -> Store.publish (atomic switch)
    metrics              Prometheus metrics, added up over worker processes (multiprocess mode)

``settings`` is the only module that reads environment variables. Nothing here imports training code
or MLflow: a model arrives as an exported artifact (:mod:`engine.artifact`).
"""
