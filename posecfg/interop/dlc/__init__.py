"""DeepLabCut 3 projects: files and numbers (no torch).

Project ``config.yaml``, label files, training-dataset files, shuffle creation with
``pytorch_config.yaml``, prediction / evaluation / learning-stats files and snapshot naming, in
DeepLabCut 3.0.2's formats. Modules import numpy/pandas/PyYAML only.
"""
