// Starts the console: reads where the API is (config.json beside index.html), then mounts the app.
import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import zhCn from 'element-plus/es/locale/lang/zh-cn.mjs'
import 'element-plus/dist/index.css'
import './style.css'
import App from './App.vue'
import { loadConfig } from './api.js'
import { router } from './router.js'

loadConfig().then(() => {
  createApp(App).use(ElementPlus, { locale: zhCn }).use(router).mount('#app')
})
