/**
 * The torch.hub layout of DINOv2: the state dicts `dinov2_vit{s,b,l}14[_reg4]_pretrain.pth` that
 * `torch.hub.load('facebookresearch/dinov2', 'dinov2_vitb14')` (the official REG code) loads, with the
 * parameter names of facebookresearch/dinov2 `dinov2/models/vision_transformer.py` (`block_chunks=0`).
 * They map onto the Hugging Face names of {@link Dinov2} (transformers' `convert_dinov2_to_hf.py`):
 *
 *   cls_token, pos_embed, register_tokens, mask_token  → embeddings.{cls_token, position_embeddings, register_tokens, mask_token}
 *   patch_embed.proj.*                                  → embeddings.patch_embeddings.projection.*
 *   blocks.i.attn.qkv.*   (3C rows: [q; k; v])          → encoder.layer.i.attention.attention.{query, key, value}.*
 *   blocks.i.attn.proj.*                                → encoder.layer.i.attention.output.dense.*
 *   blocks.i.ls{1,2}.gamma                              → encoder.layer.i.layer_scale{1,2}.lambda1
 *   blocks.i.{norm1, norm2, mlp.fc1, mlp.fc2}.*         → encoder.layer.i.{norm1, norm2, mlp.fc1, mlp.fc2}.*
 *   norm.*                                              → layernorm.*
 *
 * The fused qkv splits along its rows because the hub attention reads
 * `qkv(x).reshape(B, N, 3, heads, C / heads)`: rows [0, C) are q, [C, 2C) k, [2C, 3C) v, each head-major,
 * as the separate HF projections are.
 */
import type { Tensor } from '../../torch/index.js';
import type { Dinov2Config, Dinov2ConfigKeys } from './dinov2.js';

/** Where the config-giving tensors are in a torch.hub state dict. */
export const DINOV2_HUB_CONFIG_KEYS: Dinov2ConfigKeys = {
  cls: 'cls_token',
  pos: 'pos_embed',
  patch: 'patch_embed.proj.weight',
  registers: 'register_tokens',
  norm1: (layer) => `blocks.${layer}.norm1.weight`,
  fc1: 'blocks.0.mlp.fc1.weight',
  swiglu: 'blocks.0.mlp.w12.weight',
};

/** True when `keys` look like a torch.hub DINOv2 state dict (top-level `cls_token`, `pos_embed`, `blocks.N.*`). */
export function isDinov2HubState(keys: Iterable<string>): boolean {
  for (const k of keys) if (k === 'cls_token' || k === 'pos_embed' || k.startsWith('blocks.') || k.startsWith('patch_embed.')) return true;
  return false;
}

/** One tensor of a torch.hub file: its name, its shape, and the HF name(s) it becomes (three: rows split in equal thirds). */
interface HubTensor {
  readonly hub: string;
  readonly shape: readonly number[];
  readonly hf: string | readonly [string, string, string];
}

/** Every tensor a torch.hub file of `config` holds, in the file's order. */
export function dinov2HubTensors(config: Dinov2Config): HubTensor[] {
  const { hiddenSize: C, posGrid: M, numRegisters: R, patchSize: p, mlpDim: F, numLayers: L } = config;
  const pair = (hub: string, hf: string, weight: number[], bias = weight.slice(0, 1)): HubTensor[] => [
    { hub: `${hub}.weight`, shape: weight, hf: `${hf}.weight` },
    { hub: `${hub}.bias`, shape: bias, hf: `${hf}.bias` },
  ];
  const rows: HubTensor[] = [
    { hub: 'cls_token', shape: [1, 1, C], hf: 'embeddings.cls_token' },
    { hub: 'pos_embed', shape: [1, M * M + 1, C], hf: 'embeddings.position_embeddings' },
    ...(R > 0 ? [{ hub: 'register_tokens', shape: [1, R, C], hf: 'embeddings.register_tokens' }] : []),
    { hub: 'mask_token', shape: [1, C], hf: 'embeddings.mask_token' },
    ...pair('patch_embed.proj', 'embeddings.patch_embeddings.projection', [C, 3, p, p]),
  ];
  for (let i = 0; i < L; i++) {
    const b = `blocks.${i}`;
    const l = `encoder.layer.${i}`;
    const qkv = (part: string): readonly [string, string, string] => [
      `${l}.attention.attention.query.${part}`,
      `${l}.attention.attention.key.${part}`,
      `${l}.attention.attention.value.${part}`,
    ];
    rows.push(
      ...pair(`${b}.norm1`, `${l}.norm1`, [C]),
      { hub: `${b}.attn.qkv.weight`, shape: [3 * C, C], hf: qkv('weight') },
      { hub: `${b}.attn.qkv.bias`, shape: [3 * C], hf: qkv('bias') },
      ...pair(`${b}.attn.proj`, `${l}.attention.output.dense`, [C, C]),
      { hub: `${b}.ls1.gamma`, shape: [C], hf: `${l}.layer_scale1.lambda1` },
      ...pair(`${b}.norm2`, `${l}.norm2`, [C]),
      ...pair(`${b}.mlp.fc1`, `${l}.mlp.fc1`, [F, C]),
      ...pair(`${b}.mlp.fc2`, `${l}.mlp.fc2`, [C, F]),
      { hub: `${b}.ls2.gamma`, shape: [C], hf: `${l}.layer_scale2.lambda1` },
    );
  }
  rows.push(...pair('norm', 'layernorm', [C]));
  return rows;
}

const listed = (keys: string[]): string => (keys.length > 8 ? `${keys.slice(0, 8).join(', ')}, … (${keys.length})` : keys.join(', '));

/**
 * The HF-named state of {@link Dinov2} from a torch.hub state dict of `config` (qkv rows split into
 * views; nothing is copied). Throws naming every missing or unexpected key, or the first wrong-shaped one.
 */
export function dinov2HubToHf(state: ReadonlyMap<string, Tensor>, config: Dinov2Config): Map<string, Tensor> {
  const rows = dinov2HubTensors(config);
  const expected = new Set(rows.map((r) => r.hub));
  const missing = rows.filter((r) => !state.has(r.hub)).map((r) => `${r.hub} [${r.shape.join(', ')}]`);
  const unexpected = [...state.keys()].filter((k) => !expected.has(k));
  if (missing.length > 0 || unexpected.length > 0) {
    const parts = [missing.length > 0 ? `missing ${listed(missing)}` : '', unexpected.length > 0 ? `unexpected ${listed(unexpected)}` : ''];
    throw new Error(parts.filter((s) => s !== '').join('; '));
  }
  const out = new Map<string, Tensor>();
  for (const r of rows) {
    const t = state.get(r.hub)!;
    if (t.shape.join(',') !== r.shape.join(','))
      throw new Error(`${r.hub} has shape [${t.shape.join(', ')}], expected [${r.shape.join(', ')}]`);
    if (typeof r.hf === 'string') out.set(r.hf, t);
    else {
      const third = r.shape[0]! / 3;
      r.hf.forEach((name, j) => out.set(name, t.slice(0, j * third, (j + 1) * third)));
    }
  }
  return out;
}
