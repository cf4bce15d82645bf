import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build lands inside the Python package, which serves it at / (pixelmill.api.console).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/pixelmill/console/static",
    emptyOutDir: true,
    // No inline scripts or styles: the console's Content-Security-Policy allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { "/v1": "http://127.0.0.1:8700" } },
});
