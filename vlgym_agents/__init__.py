"""vlgym_agents: VL-DAC and baselines for training vision-language agents on vlgym environments."""
