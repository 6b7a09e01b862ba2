/** `reg version`: versions of reg-ts, Node and libtorch, and the devices libtorch sees. */
import type { Command } from '../args.js';
import { buildInfo, getNumThreads } from '../../torch/runtime.js';
import { regTsVersion } from '../../util/version.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'print reg-ts, Node and libtorch versions and the devices libtorch sees',
  options: {},
  async run() {
    const info = buildInfo();
    const devices = ['cpu', ...Array.from({ length: info.cudaDeviceCount }, (_, i) => `cuda:${i}`)];
    console.log(`reg-ts   ${regTsVersion()}`);
    console.log(`node     ${process.version}`);
    console.log(`libtorch ${info.libtorch}`);
    console.log(`devices  ${devices.join(', ')}`);
    console.log(`threads  ${getNumThreads()} intra-op`);
  },
};
