import { defineConfig, type UserConfig } from 'vite'

// As Vite's docs write server.proxy, with the API's address from the environment.
const API: string = process.env.API_URL ?? 'http://localhost:8080'

export default defineConfig(({ mode }): UserConfig => ({
  base: mode === 'production' ? '/app/' : '/',
  server: {
    port: 5173,
    proxy: {
      '/foo': 'http://localhost:4567',
      '/api': {
        target: API,
        changeOrigin: true,
        rewrite: (path: string) => path.replace(/^\/api/, ''),
      },
      '^/fallback/.*': {
        target: 'http://localhost:4568',
        changeOrigin: true,
        rewrite: (path) => path.replace(/^\/fallback/, ''),
      },
      '/socket.io': { target: 'ws://localhost:5174', ws: true, rewriteWsOrigin: true },
      '/custom': {
        target: 'http://localhost:8081',
        configure: (proxy, _options) => {
          proxy.on('error', (err) => console.log(err))
        },
      },
    },
  },
}))
