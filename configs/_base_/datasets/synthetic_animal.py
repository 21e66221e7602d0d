dataset_info = dict(
    dataset_name='synthetic_animal',
    paper_info=dict(
        author='posecfg contributors',
        title='Synthetic quadrupeds seen from above: a download-free keypoint dataset',
        container='posecfg (posecfg/datasets/synthetic.py, tools/make_synthetic_dataset.py)',
        year='2025',
        homepage='',
    ),
    keypoint_info={
        0: dict(name='nose', id=0, color=[51, 153, 255], type='upper', swap=''),
        1: dict(name='left_ear', id=1, color=[0, 255, 0], type='upper', swap='right_ear'),
        2: dict(name='right_ear', id=2, color=[255, 128, 0], type='upper', swap='left_ear'),
        3: dict(name='neck', id=3, color=[51, 153, 255], type='upper', swap=''),
        4: dict(name='tail_base', id=4, color=[51, 153, 255], type='lower', swap=''),
        5: dict(name='tail_tip', id=5, color=[51, 153, 255], type='lower', swap=''),
        6: dict(name='left_front_knee', id=6, color=[0, 255, 0], type='upper',
                swap='right_front_knee'),
        7: dict(name='right_front_knee', id=7, color=[255, 128, 0], type='upper',
                swap='left_front_knee'),
        8: dict(name='left_front_paw', id=8, color=[0, 255, 0], type='upper',
                swap='right_front_paw'),
        9: dict(name='right_front_paw', id=9, color=[255, 128, 0], type='upper',
                swap='left_front_paw'),
        10: dict(name='left_back_knee', id=10, color=[0, 255, 0], type='lower',
                 swap='right_back_knee'),
        11: dict(name='right_back_knee', id=11, color=[255, 128, 0], type='lower',
                 swap='left_back_knee'),
        12: dict(name='left_back_paw', id=12, color=[0, 255, 0], type='lower',
                 swap='right_back_paw'),
        13: dict(name='right_back_paw', id=13, color=[255, 128, 0], type='lower',
                 swap='left_back_paw'),
    },
    skeleton_info={
        0: dict(link=('nose', 'neck'), id=0, color=[51, 153, 255]),
        1: dict(link=('left_ear', 'neck'), id=1, color=[0, 255, 0]),
        2: dict(link=('right_ear', 'neck'), id=2, color=[255, 128, 0]),
        3: dict(link=('neck', 'tail_base'), id=3, color=[51, 153, 255]),
        4: dict(link=('tail_base', 'tail_tip'), id=4, color=[51, 153, 255]),
        5: dict(link=('neck', 'left_front_knee'), id=5, color=[0, 255, 0]),
        6: dict(link=('left_front_knee', 'left_front_paw'), id=6, color=[0, 255, 0]),
        7: dict(link=('neck', 'right_front_knee'), id=7, color=[255, 128, 0]),
        8: dict(link=('right_front_knee', 'right_front_paw'), id=8, color=[255, 128, 0]),
        9: dict(link=('tail_base', 'left_back_knee'), id=9, color=[0, 255, 0]),
        10: dict(link=('left_back_knee', 'left_back_paw'), id=10, color=[0, 255, 0]),
        11: dict(link=('tail_base', 'right_back_knee'), id=11, color=[255, 128, 0]),
        12: dict(link=('right_back_knee', 'right_back_paw'), id=12, color=[255, 128, 0]),
    },
    # Extremities weigh more, as in COCO and Animal-Pose: they move most and are learnt last.
    joint_weights=[1., 1., 1., 1., 1., 1.5, 1.2, 1.2, 1.5, 1.5, 1.2, 1.2, 1.5, 1.5],
    # OKS sigmas. COCO defines sigma_i by sigma_i² = E[d_i² / s²]: d_i is the distance between a
    # human click and the true point, s² the object area. Rendered keypoints have no annotators,
    # so we take a click falling uniformly on the mark that shows the keypoint: for a disc of
    # radius r, E[d²] = r² / 2, so sigma = r / (√2 · s). Mark radii are fractions of L (the neck
    # to tail-base length; MARK_RADII in posecfg/datasets/synthetic.py): nose 0.045, ears 0.065,
    # knees 0.055, paws and tail tuft 0.06, and 0.12 for neck and tail base, which are junctions
    # of shapes rather than marks. The silhouette area is 0.70 L² on average (measured; the
    # tests check it), so sigma = (r / L) / 1.18. OKS is then 0.5 at 1.67 r from the true point.
    # The values sit next to COCO's for similar parts (nose .026, ears .035, wrists .062,
    # knees .087, hips .107).
    sigmas=[
        0.038, 0.055, 0.055, 0.102, 0.102, 0.051, 0.047, 0.047, 0.051, 0.051, 0.047, 0.047,
        0.051, 0.051
    ])
