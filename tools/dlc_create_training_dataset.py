#!/usr/bin/env python
"""Create a DeepLabCut shuffle without DeepLabCut (the files DeepLabCut 3.0.2 writes).

    python tools/dlc_create_training_dataset.py PROJECT/config.yaml --net-type resnet_50 \
        [--shuffle K] [--trainset-index I] [--seed S] [--overwrite]

Writes, for TrainingFraction[I] and shuffle K: the merged labels, the split
(Documentation_data-*.pickle, metadata.yaml), the training set (.mat / .pickle) under
training-datasets/iteration-N/UnaugmentedDataSet_<Task><date>/, and
dlc-models-pytorch/iteration-N/<Task><date>-trainset<pct>shuffle<K>/{train/pytorch_config.yaml,
test/pose_cfg.yaml}. The split is DeepLabCut's rule drawn from numpy's RandomState(S)
(default S = K): the split DeepLabCut makes after numpy.random.seed(S).
"""
import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from posecfg.interop.dlc.create_dataset import create_training_dataset  # noqa: E402
from posecfg.interop.dlc.labels import format_report, read_project_labels  # noqa: E402
from posecfg.interop.dlc.pose_config import NET_TYPES  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help="the project's config.yaml")
    parser.add_argument('--net-type', default=None,
                        help=f"one of {', '.join(NET_TYPES)} (default: the project's "
                             f"default_net_type)")
    parser.add_argument('--shuffle', type=int, default=1, help='shuffle index (default 1)')
    parser.add_argument('--trainset-index', type=int, default=0,
                        help='index into TrainingFraction (default 0)')
    parser.add_argument('--seed', type=int, default=None,
                        help='seed of the split (default: the shuffle index)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing shuffle with the same index and fraction')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            created = create_training_dataset(
                args.config, shuffle=args.shuffle, trainset_index=args.trainset_index,
                net_type=args.net_type, seed=args.seed, overwrite=args.overwrite)
            report = format_report(read_project_labels(args.config))
        except (OSError, ValueError) as err:
            print(f'error: {err}', file=sys.stderr)
            return 1
    for warning in {str(w.message) for w in caught}:
        print(f'warning: {warning}', file=sys.stderr)
    print(report)
    print(f'shuffle {created.shuffle}, TrainingFraction {created.train_fraction}: '
          f'{len(created.train_indices)} training and {len(created.test_indices)} test images')
    for path in created.files:
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
