"""Write posecfg's synthetic quadruped keypoint dataset (COCO format) to OUT_DIR.

Usage::

    python tools/make_synthetic_dataset.py OUT_DIR [--num-train N] [--num-val M]
        [--image-size W H] [--seed S] [--overwrite]
    python tools/make_synthetic_dataset.py OUT_DIR --format dlc [--num-images N]
        [--image-size W H] [--seed S] [--overwrite]

``--format dlc`` writes the same kind of images as a DeepLabCut multi-animal project instead
(config.yaml, labeled-data/quadrupeds/ frames and CollectedData_posecfg.h5/.csv with the 4-row
header, videos/quadrupeds.mp4; posecfg/datasets/synthetic_dlc.py), ready for
tools/dlc_create_training_dataset.py OUT_DIR/config.yaml.

Layout of OUT_DIR (point a COCO-style top-down dataset's ``ann_file`` at an annotation file and
its ``img_prefix`` at the matching image folder)::

    manifest.json                     generator version and parameters
    images/train/000001.jpg …         JPEG, W x H
    images/val/000001.jpg …
    annotations/train.json            COCO keypoints (images, annotations, categories)
    annotations/val.json
    annotations/val_detections.json   COCO detection results for val: [{image_id, category_id,
                                      bbox, score}], from GT boxes with jitter, misses, duplicates
                                      and false positives

The keypoint names, order and skeleton come from configs/_base_/datasets/synthetic_animal.py.
The same arguments always produce byte-identical files. The dataset is built in a temporary
sibling directory and renamed into place. Running again with the same arguments does nothing;
with different ones it stops unless --overwrite is given; a non-empty OUT_DIR that is not a
synthetic dataset is never touched. Exit status 0 on success, 1 when OUT_DIR is in the way,
2 on bad arguments or a bad dataset_info file.
"""
import argparse
import sys

from posecfg.config.errors import ConfigError
from posecfg.datasets.synthetic import (DEFAULT_DATASET_INFO, DatasetExistsError,
                                        generate_dataset)
from posecfg.datasets.synthetic_dlc import generate_dlc_project


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the synthetic quadruped keypoint dataset (COCO format) to OUT_DIR.')
    parser.add_argument('out_dir', metavar='OUT_DIR', help='dataset directory to create')
    parser.add_argument('--format', choices=('coco', 'dlc'), default='coco',
                        help='coco: COCO keypoint files (default); dlc: a DeepLabCut '
                             'multi-animal project')
    parser.add_argument('--num-images', type=int, default=100,
                        help='labelled frames of a --format dlc project (100)')
    parser.add_argument('--num-train', type=int, default=400, help='training images (400)')
    parser.add_argument('--num-val', type=int, default=100, help='validation images (100)')
    parser.add_argument('--image-size', type=int, nargs=2, default=(320, 240),
                        metavar=('W', 'H'), help='image width and height in pixels (320 240)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (0)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a different synthetic dataset already in OUT_DIR')
    parser.add_argument('--dataset-info', default=str(DEFAULT_DATASET_INFO),
                        help='dataset_info file with the keypoint names and skeleton')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.format == 'dlc':
            summary = generate_dlc_project(args.out_dir, num_images=args.num_images,
                                           image_size=tuple(args.image_size), seed=args.seed,
                                           overwrite=args.overwrite,
                                           dataset_info=args.dataset_info)
        else:
            summary = generate_dataset(args.out_dir, num_train=args.num_train,
                                       num_val=args.num_val, image_size=tuple(args.image_size),
                                       seed=args.seed, overwrite=args.overwrite,
                                       dataset_info=args.dataset_info)
    except DatasetExistsError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, ConfigError) as err:  # arguments, dataset_info file
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(summary.format())
    return 0


if __name__ == '__main__':
    sys.exit(main())
