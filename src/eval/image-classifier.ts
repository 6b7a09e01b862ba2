/**
 * The small convolutional classifier behind the class-consistency score on the embedded datasets:
 *
 *   x ∈ [−1, 1] (N, C, S, S) → conv3×3(C→16) → ReLU → maxpool 2 → conv3×3(16→32) → ReLU → maxpool 2
 *     → flatten (32·⌊S/4⌋²) → Linear(→128) → ReLU → Linear(→K) = logits
 *
 * Its input is what the sampler writes: uint8 RGB images (N, S, S, 3); a one-channel classifier
 * (Fashion-MNIST) sees the mean of the three channels, which for grey images is the grey value itself.
 */
import { Conv2d, Linear, Module, init } from '../nn/index.js';
import { defaultUniformBound } from '../nn/init.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';

/** The shape of a {@link SmallCnn}. */
export interface SmallCnnShape {
  /** Input channels (1 or 3). */
  channels: 1 | 3;
  /** Input side S. */
  size: number;
  numClasses: number;
}

/** The classifier of the file comment. Keys `conv1.*`, `conv2.*`, `fc1.*`, `fc2.*`. */
export class SmallCnn extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;

  /** @param generator stream of PyTorch's default U(±1/√fan_in) initialisation (global generator when omitted) */
  constructor(
    readonly shape: SmallCnnShape,
    generator?: torch.Generator,
  ) {
    super();
    const side = Math.floor(Math.floor(shape.size / 2) / 2);
    if (side < 1) throw new RangeError(`SmallCnn: input side ${shape.size} is too small (needs at least 4)`);
    this.conv1 = this.child('conv1', new Conv2d(shape.channels, 16, 3, { padding: 1 }));
    this.conv2 = this.child('conv2', new Conv2d(16, 32, 3, { padding: 1 }));
    this.fc1 = this.child('fc1', new Linear(32 * side * side, 128));
    this.fc2 = this.child('fc2', new Linear(128, shape.numClasses));
    if (generator) {
      for (const layer of [this.conv1, this.conv2, this.fc1, this.fc2]) {
        const bound = defaultUniformBound(layer.weight);
        init.uniform_(layer.weight, -bound, bound, generator);
        init.uniform_(layer.bias!, -bound, bound, generator);
      }
    }
  }

  /** (N, C, S, S) float in [−1, 1] → logits (N, K). */
  forward(x: Tensor): Tensor {
    const F = torch.F;
    const a = F.maxPool2d(F.relu(this.conv1.forward(x)), 2);
    const b = F.maxPool2d(F.relu(this.conv2.forward(a)), 2);
    return this.fc2.forward(F.relu(this.fc1.forward(b.flatten(1))));
  }

  /** uint8 RGB images (N, S, S, 3) → the classifier's input (N, C, S, S) in [−1, 1]. */
  inputOf(images: Tensor): Tensor {
    const { channels, size } = this.shape;
    if (images.ndim !== 4 || images.shape[3] !== 3 || images.shape[1] !== size || images.shape[2] !== size)
      throw new RangeError(`classifier: expected uint8 RGB images (N, ${size}, ${size}, 3), got [${images.shape.join(', ')}]`);
    return torch.scope(() => {
      const x = images.permute(0, 3, 1, 2).to('float32');
      return (channels === 1 ? x.mean(1, true) : x).div(127.5).sub(1);
    });
  }
}
