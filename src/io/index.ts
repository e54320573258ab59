// Node-only image file I/O (fs, path). Not exported from src/index.ts: the core must run in
// browsers. The browser-safe byte codec (src/image/codec.ts) is exported through src/image/index.ts.
export { readImage, writeImage, imageFormatOfPath, imageDimensions, type ImageDimensions, IMAGE_EXTENSIONS, DEFAULT_MAX_PIXELS, ImageTooLargeError, type ReadImageOptions, type WriteImageOptions } from './images.js';
export { writeFileAtomic, assertWritableFolder, type WriteFileAtomicOptions } from './atomic.js';
export { listImageFiles, folderSource, type ImageFile } from './folder.js';
export { ortNodeEngine, ortNodeAvailable, loadRestorerFile, type OrtNodeEngineOptions, type NodeEngineName } from './restorer-files.js';
export { shippedModelPath, SHIPPED_MODELS, SHIPPED_TASK_DESCRIPTIONS, type ShippedTask } from './shipped-model.js';
