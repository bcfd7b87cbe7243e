/// The embedded Qwen3-VL engine: model-folder loading, tokenizer, chat template, vision tower, text
/// decoder and generation, in Swift on OpenBLAS. Pure computation: no X11, no I/O beyond reading
/// files. Each stage is a nested namespace (`Qwen3VL.Tokenizer`, `Qwen3VL.Safetensors`, ...).
public enum Qwen3VL {}
