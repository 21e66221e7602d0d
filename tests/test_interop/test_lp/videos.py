"""Short copies of a project's video for Lightning Pose tests that train on it."""
import cv2


def copy_first_frames(source, target, frames: int) -> None:
    """Write the first ``frames`` frames of the video ``source`` to ``target`` (MP4, 25 fps)."""
    video = cv2.VideoCapture(str(source))
    size = (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    out = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*'mp4v'), 25.0, size)
    try:
        for _ in range(frames):
            ok, frame = video.read()
            assert ok, f'{source} has fewer than {frames} frames'
            out.write(frame)
    finally:
        out.release()
        video.release()
