// Parses a local GGUF file (argv[2]) with @huggingface/gguf, the parser of the Hub's GGUF viewer,
// and prints what it read: {"ok", "error", "tensorDataOffset", "tensors":[{"name","offset",
// "shape","dtype"}]}. For cross-checking `hfmodels verify --quick` (test_day_two.py).
import { gguf } from "@huggingface/gguf";

try {
  const parsed = await gguf(process.argv[2], { allowLocalFile: true });
  console.log(JSON.stringify({
    ok: true,
    tensorDataOffset: Number(parsed.tensorDataOffset),
    tensors: parsed.tensorInfos.map((t) => ({
      name: t.name,
      offset: Number(t.offset),
      shape: t.shape.map(Number),
      dtype: t.dtype,
    })),
  }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error) }));
}
