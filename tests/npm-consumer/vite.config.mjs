// Vite build of the consumer page: relative asset URLs so dist/ can be served from any path.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
});
