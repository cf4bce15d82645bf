"""A tiny, randomly initialised Stable Diffusion pipeline, built in code and saved like real weights.

Nothing is downloaded: the tokenizer's vocabulary is the 256 byte symbols of byte-level BPE (each
also as an end-of-word token) with no merges, and every model is a few thousand parameters. The
pipeline is written with ``save_pretrained``, so loading it exercises the same code path as a
user's local weights. Its images are noise, but real pipeline code produces them end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"


def _byte_level_vocab() -> dict[str, int]:
    from tokenizers import pre_tokenizers

    symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab: dict[str, int] = {}
    for token in [*symbols, *(symbol + "</w>" for symbol in symbols), START_TOKEN, END_TOKEN]:
        vocab[token] = len(vocab)
    return vocab


def build_tiny_pipeline(seed: int = 0) -> Any:
    """A StableDiffusionPipeline with tiny random weights (fixed by ``seed``)."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab = _byte_level_vocab()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=2,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(8,),
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=32,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            projection_dim=16,
            bos_token_id=vocab[START_TOKEN],
            eos_token_id=vocab[END_TOKEN],
            pad_token_id=vocab[END_TOKEN],
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def save_tiny_pipeline(directory: Path, seed: int = 0) -> Path:
    """Write the tiny pipeline to ``directory`` as ``save_pretrained`` does; return the directory."""
    build_tiny_pipeline(seed).save_pretrained(directory)
    return directory


def save_into_hub_cache(pipeline_dir: Path, cache_dir: Path, repo_id: str, revision: str = "0" * 40) -> None:
    """Lay ``pipeline_dir`` out as the Hugging Face cache keeps a downloaded model repo."""
    repo = cache_dir / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    for source in pipeline_dir.rglob("*"):
        if source.is_file():
            target = snapshot / source.relative_to(pipeline_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
