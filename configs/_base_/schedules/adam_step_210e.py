# MMPose 0.x's top-down schedule: Adam at 5e-4, linear warm-up over 500 iterations, x0.1 at
# epochs 170 and 200 of 210.
optimizer = dict(
    type='Adam',
    lr=5e-4,
)
optimizer_config = dict(grad_clip=None)
lr_config = dict(
    policy='step',
    warmup='linear',
    warmup_iters=500,
    warmup_ratio=0.001,
    step=[170, 200])
total_epochs = 210
