import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The bundle ships inside the Python package: installing runyard needs no Node.
export default defineConfig({
  plugins: [preact()],
  build: {
    outDir: "../src/runyard/server/static",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080" },
  },
});
