"""Offer lift from evidence: estimate ``beta`` (a log odds ratio) from the promotions the data ships.

The model and the file format live in :mod:`engine.rules.lift` (pure); this package reads the evidence,
estimates, decides and writes. Modules, in data-flow order:

- :mod:`engine.lift.config`: ``configs/lift_estimate.toml`` (:class:`LiftEstimateConfig`).
- :mod:`engine.lift.sources`: the campaign, coupon, redemption and promotion tables, cleaned
  (:func:`read_promotion_tables`, :func:`dedup_promotions`).
- :mod:`engine.lift.panel`: purchases as integer arrays (:func:`build_panel`).
- :mod:`engine.lift.campaigns`: campaign coupons, difference in differences on the log-odds scale.
- :mod:`engine.lift.promos`: in-store display and mailer, promoted vs unpromoted weeks.
- :mod:`engine.lift.bootstrap`: household (Poisson) bootstrap of additive per-household sums.
- :mod:`engine.lift.estimate`: every method, kind, department and campaign type (:func:`estimate_lifts`).
- :mod:`engine.lift.write`: the decision rule, evidence to lift file (:func:`decide`).
- :mod:`engine.lift.files`: lift files on disk (:func:`read_lift_file`, :func:`write_lift_file`).
- :mod:`engine.lift.report`: ``report.md`` and one plot.
- :mod:`engine.lift.pipeline`: all of it, for ``offers lift estimate`` (:func:`run_lift_estimate`).
"""
