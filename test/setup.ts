// The tests play an app that runs irsde on tfjs's cpu backend with tfjs's gradients. irsde itself
// imports no tfjs backend (they are optional peer dependencies the app chooses), so register them
// here, before any test file imports irsde.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
