"""rewardkit-vote: self-rewarding by vote.

* ``vote.majority``: TTRL's majority vote over a GRPO group; answers clustered by math equivalence
  (rewardkit-math, when installed) or normalised strings.
* ``vote.judge``: several judge samples per completion, aggregated by majority or mean
  (constitutional self-rewarding; needs ``rewardkit-vote[judge]``); the judge may be the policy's
  own latest checkpoint (``model: "latest:<dir>"``).
"""

from .answers import last_number, math_answer, normalise
from .clusters import Clustering, cluster
from .judge import judge, tally
from .majority import majority

__version__ = "0.1.0"
__all__ = ["Clustering", "cluster", "judge", "last_number", "majority", "math_answer", "normalise", "tally"]
