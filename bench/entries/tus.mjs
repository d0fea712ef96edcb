// esbuild entry for the bundle-size comparison: tus-js-client's browser upload API.
export { Upload } from "tus-js-client";
