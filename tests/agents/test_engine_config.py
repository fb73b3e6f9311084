"""``rollout.engine``: what the vLLM engine cannot do exactly is refused when the config is read (no vLLM needed)."""

import pytest

from vlgym_agents.config import load_config


def test_the_default_engine_is_hugging_face(tiny_config):
    assert tiny_config().rollout.engine == "hf"


@pytest.mark.parametrize(("overrides", "message"), [
    (["model.lora=null"], "needs model.lora"),
    (["sampling.temperature=0.005"], "below 0.01"),
    (["rollout.vllm.sleep=true"], "needs a GPU"),
    (["rollout.engine=sglang"], "rollout.engine"),
])
def test_what_vllm_cannot_honour_is_a_config_error(tiny_config, overrides, message):
    engine = [] if any(o.startswith("rollout.engine") for o in overrides) else ["rollout.engine=vllm"]
    with pytest.raises(ValueError, match=message):
        tiny_config(*engine, *overrides)


def test_greedy_decoding_and_an_accepted_temperature_pass(tiny_config):
    assert tiny_config("rollout.engine=vllm", "sampling.do_sample=false", "sampling.temperature=0.001").rollout
    assert load_config("quickstart", ["model.path=x", "rollout.engine=vllm"]).rollout.vllm.gpu_memory_utilization == 0.3
