// The console's build: relative asset paths, so the same build is served locally by the dev
// stack and from any CloudFront/S3 path; the views load on demand (echarts only with the dashboard).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  base: './',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: false,
  },
})
