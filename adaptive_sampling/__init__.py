"""adaptive-sampling-rl: failure-driven start-point sampling for motion-tracking RL, in pure PyTorch.

>>> sampler = AdaptiveSampler(AdaptiveSamplerCfg(), num_frames=[500, 320], fps=[50.0, 30.0])
>>> motion_ids, start_frames = sampler.sample(4096)
"""

from .config import AdaptiveSamplerCfg
from .layout import MotionLayout
from .sampler import AdaptiveSampler
from .segments import segment_ends
from .state import STATE_VERSION, LoadReport

__all__ = ["STATE_VERSION", "AdaptiveSampler", "AdaptiveSamplerCfg", "LoadReport", "MotionLayout", "segment_ends"]
__version__ = "0.1.0"
# marker for _distribution.check_core: the unrelated PyPI package "adaptive-sampling" installs an adaptive_sampling too
__distribution__ = "adaptive-sampling-rl"
