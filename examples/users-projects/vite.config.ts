import react from "@vitejs/plugin-react";
import { DEFAULT_PORT } from "convoy/client";
import { defineConfig } from "vite";

// `vite` serves the app with hot reload; Convoy (`convoy dev`, port 3210) answers /api, /trpc and /http.
const convoy = `http://127.0.0.1:${DEFAULT_PORT}`;

export default defineConfig({
  plugins: [react()],
  server: { proxy: { "/api": convoy, "/trpc": convoy, "/http": convoy } },
  preview: { proxy: { "/api": convoy, "/trpc": convoy, "/http": convoy } },
});
