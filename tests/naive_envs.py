"""gymnasium environments for the tests of fastga.control's worker processes.

Module-level factories, so that worker processes started with ``spawn`` can
unpickle them.
"""

import time

#: Seconds each step of :func:`slow_mountain_car` sleeps.
STEP_SECONDS = 0.004


def slow_mountain_car():
    """gymnasium's MountainCar-v0 (not ported: 200-step episodes of reward -1
    for a policy that does not reach the goal), slowed down so that a call
    lasts long enough to kill a worker in the middle of it."""
    import gymnasium

    class Slow(gymnasium.Wrapper):
        def step(self, action):
            time.sleep(STEP_SECONDS)
            return self.env.step(action)

    return Slow(gymnasium.make("MountainCar-v0"))
