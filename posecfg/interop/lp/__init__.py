"""Lightning Pose's files, config rules and numbers: pure translation and I/O (numpy/pandas).

- :mod:`.labels`: the labels CSV, read by Lightning Pose's rules;
- :mod:`.split`: the train/validation/test split, frame for frame;
- :mod:`.dialect`: every ``config.yaml`` key with its type, default, effect and source;
- :mod:`.yaml_io`, :mod:`.interpolation`, :mod:`.config`: reading a ``config.yaml`` as OmegaConf
  does (with file lines and provenance), ``${…}`` resolution, overrides;
- :mod:`.checks`: Lightning Pose's config rules at load time, and those that need the CSV;
- :mod:`.outputs`: ``predictions.csv``, video predictions and the metric CSVs;
- :mod:`.run_folder`: the run folder's layout, ``config.yaml``, ``hparams.yaml``,
  ``train_status.json``, checkpoint names.

The numbers themselves (pixel error, temporal norm, NaN-aware PCA) are in
:mod:`posecfg.evaluation.functional.lp_metrics`.
"""
