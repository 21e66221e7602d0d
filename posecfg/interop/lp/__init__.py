"""Lightning Pose's files, config rules and numbers: pure translation and I/O (numpy/pandas).

- :mod:`.labels`: the labels CSV, read by Lightning Pose's rules;
- :mod:`.split`: the train/validation/test split, frame for frame;
"""
