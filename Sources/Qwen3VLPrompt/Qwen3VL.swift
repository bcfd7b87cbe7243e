/// Qwen3-VL in Swift. This module (`Qwen3VLPrompt`) holds what turns a conversation into the model's
/// input and needs no BLAS: config files, tokenizer, chat template, image pads, image processor. The
/// `Qwen3VL` module adds the engine (weights, vision tower, text decoder, generation) on OpenBLAS.
/// Each stage is a nested namespace (`Qwen3VL.Tokenizer`, `Qwen3VL.TextModel`, ...).
public enum Qwen3VL {}
