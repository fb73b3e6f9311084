"""Same as the ``vlgym-train`` console script: ``python scripts/train.py rl numberline run.output_dir=...``."""

from vlgym_agents.cli import main

if __name__ == "__main__":
    main()
