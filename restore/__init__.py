"""restore: turn spun English (article-spinner output, "tortured phrases") back into the original wording.

    >>> from restore import restore
    >>> restore("Washington's best diplomat sentence the invasion.")

Heavy imports (torch, transformers) happen on first use, so ``import restore`` and ``restore --help``
stay instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

from restore.engine import BATCH_SIZE

if TYPE_CHECKING:
    from restore.restorer import Restorer

__all__ = ["Restorer", "restore"]
__version__ = "0.18.1"

_default: Restorer | None = None


@overload
def restore(texts: str, batch_size: int = ..., show_progress_bar: bool = ...) -> str: ...
@overload
def restore(texts: list[str], batch_size: int = ..., show_progress_bar: bool = ...) -> list[str]: ...
def restore(texts: str | list[str], batch_size: int = BATCH_SIZE, show_progress_bar: bool = False) -> str | list[str]:
    """Restore a text, or a list of texts, with the bundled model (loaded once, on first call)."""
    global _default
    if _default is None:
        from restore.restorer import Restorer

        _default = Restorer()
    return _default.restore(texts, batch_size=batch_size, show_progress_bar=show_progress_bar)


def __getattr__(name: str):
    if name == "Restorer":
        from restore.restorer import Restorer

        return Restorer
    raise AttributeError(name)
