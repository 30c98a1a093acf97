const path = require('path');

// webpack-dev-server 5: devServer.proxy is an array.
module.exports = (env, argv) => ({
  mode: argv.mode || 'development',
  entry: './src/index.js',
  output: { path: path.resolve(__dirname, 'dist'), filename: '[name].[contenthash].js' },
  devServer: {
    port: 3000,
    historyApiFallback: true,
    proxy: [
      {
        context: ['/auth', '/api'],
        target: 'http://localhost:3001',
        changeOrigin: true,
        pathRewrite: { '^/api': '' },
      },
      {
        context: ['/ws'],
        target: 'ws://localhost:3001',
        ws: true,
        onProxyReqWs: (proxyReq) => proxyReq.setHeader('X-Ws', '1'),
      },
    ],
  },
});
