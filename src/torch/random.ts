/**
 * Random number generators. `manualSeed` seeds the global generators of every device;
 * a `Generator` is an independent stream (for example one per image, seeded from (seed, index)),
 * whose full state can be saved and restored for bit-exact resumption.
 */
import { checkDevice, type Device } from './device.js';
import { type GeneratorHandle, native } from './native.js';
import { Tensor } from './tensor.js';

/** An independent random stream on one device. */
export class Generator {
  /** @internal */
  readonly handle: GeneratorHandle;
  readonly device: Device;

  /** A new generator on `device` seeded with `seed` (a non-negative integer < 2⁵³). */
  constructor(seed: number, device: Device = 'cpu') {
    this.device = checkDevice(device);
    this.handle = native.newGenerator(this.device, seed);
  }

  /** The seed this generator was last seeded with. */
  get seed(): number {
    return native.generatorSeed(this.handle);
  }

  /** The full state as a uint8 tensor (save it to resume the stream exactly). */
  getState(): Tensor {
    return new Tensor(native.generatorState(this.handle));
  }

  /** Restores a state returned by getState(). */
  setState(state: Tensor): void {
    native.setGeneratorState(this.handle, state.handle);
  }
}

/** Seeds the global generators of the CPU and every CUDA device. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

/** State of the global generator of `device` as a uint8 tensor. */
export function getRngState(device: Device = 'cpu'): Tensor {
  return new Tensor(native.generatorState(native.defaultGenerator(checkDevice(device))));
}

/** Restores the global generator of `device` from getRngState(). */
export function setRngState(state: Tensor, device: Device = 'cpu'): void {
  native.setGeneratorState(native.defaultGenerator(checkDevice(device)), state.handle);
}
