/**
 * Evaluation: the ADM evaluator's metrics on the FID Inception (FID, sFID, IS, precision/recall), Fréchet
 * distances in other feature spaces, `reg eval`'s `evaluate()`, .npz sample batches (ADM layout), PNG grids;
 * the representation metrics (CKNNA, linear probe) and class consistency on the embedded datasets.
 */
export {
  eighAvailable,
  frechetDistance,
  frechetDistanceReport,
  gaussianStats,
  type FrechetReport,
  type GaussianStats,
  type SqrtMethod,
} from './frechet.js';
export { readNpz, readNpzArrays, writeNpz, NpzWriter, listNpz, type NpyArray } from './npz.js';
export { makeGrid, writePng, readRgb, encodePng, type RgbImage } from './images.js';
export {
  loadInception,
  InceptionExtractor,
  InceptionWeightsError,
  FidInceptionV3,
  INCEPTION_RESIZES,
  type InceptionFeatures,
  type InceptionResize,
} from './inception.js';
export { inceptionScore, IS_SPLIT_SIZE, type InceptionScore } from './inception-score.js';
export { precisionRecall, type PrecisionRecallOptions } from './precision-recall.js';
export { openImageSource, ImageSourceError, type ImageSource } from './image-source.js';
export {
  featurePass,
  joinFeatures,
  inceptionNetwork,
  encoderNetwork,
  classTokens,
  type FeatureNetwork,
  type FeatureSet,
} from './feature-pass.js';
export { shardedFeaturePass, shardSlice } from './feature-shard.js';
export { evaluate, EVAL_METRICS, ADM_METRICS, type EvalMetric, type EvaluateOptions, type EvaluationResult } from './evaluate.js';
export { cknna, hsicUnbiased, removeOutliers, type CknnaOptions } from './cknna.js';
export { LinearProbe, linearProbe, LINEAR_PROBE_DEFAULTS, type LabelledFeatures, type LinearProbeResult } from './linear-probe.js';
export { fitClassifier, predictClasses, accuracy, crossEntropy, type FitSettings } from './fit-classifier.js';
export {
  evaluateRepresentation,
  collectPairedFeatures,
  scorePairedFeatures,
  type RepresentationSettings,
  type RepresentationReport,
} from './representation.js';
export {
  embeddedClassifier,
  classConsistency,
  CLASSIFIER_SETTINGS,
  type ClassifierRecord,
  type ClassConsistency,
  type EmbeddedDataset,
} from './class-consistency.js';
export { SmallCnn } from './image-classifier.js';
export {
  embeddedSampleScores,
  sampleClassConsistency,
  featureScores,
  type EmbeddedSampleScores,
  type FeatureScores,
} from './embedded-scores.js';
export { embeddedRunScores, runDataset, type EmbeddedRunScores } from './embedded-run.js';
