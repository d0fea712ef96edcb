// esbuild entry: what bench/www/bench.js uses of Microsoft's Graph JS SDK (Client + LargeFileUploadTask).
export { Client, LargeFileUploadTask, FileUpload } from "@microsoft/microsoft-graph-client";
