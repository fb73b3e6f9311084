"""Process set-up shared by every entry point: torch's threads and device, and quiet library output.

>>> from vlgym_agents.config import RunSettings
>>> setup_torch(RunSettings(device="cpu", torch_threads=1))
'cpu'
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vlgym_agents.config import RunSettings


def setup_torch(run: RunSettings) -> str:
    """Apply ``run.torch_threads`` and return the device the run uses: ``"cuda"`` or ``"cpu"``."""
    import torch

    if run.torch_threads:
        torch.set_num_threads(run.torch_threads)
    return "cuda" if run.device == "cuda" or (run.device == "auto" and torch.cuda.is_available()) else "cpu"


def quiet_libraries() -> None:
    """Silence library output that says nothing about our run: Hugging Face's per-file progress bars (loading
    and writing weights, once per checkpoint) and transformers' deprecation notice about
    ``is_gradient_checkpointing``, which peft's LoRA wrapping triggers, and matplotlib's font-cache notice.
    Our own progress and errors stay."""
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    disable_progress_bars()
    warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
