"""Progress bars (tqdm), off when not wanted."""

import sys

__all__ = ["progress_bar"]


class _NoBar:
    n = 0

    def update(self, k=1):
        self.n += k

    def set_postfix(self, *args, **kwargs):
        pass

    def set_description(self, *args, **kwargs):
        pass

    def close(self):
        pass


def progress_bar(total, unit, disable=False, desc=None):
    """A tqdm bar over ``total`` steps on stderr, or a silent stand-in."""
    if disable:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=f" {unit}", desc=desc, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.25)
