"""A reward whose module takes a while to import (like sympy or torch): workers pay it once."""

import time

from rewardkit import reward

time.sleep(1.5)


@reward("t.after_slow_import")
def after_slow_import(sample):
    return 1.0
