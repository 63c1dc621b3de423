// The pages (hash history: any static host serves them without rewrite rules); every page but 登录 needs the key.
import { createRouter, createWebHashHistory } from 'vue-router'
import { whenUnauthenticated } from './api.js'
import { adminKey } from './session.js'

export const PAGES = [
  { path: '/dashboard', title: '数据概览', icon: 'DataLine', component: () => import('./views/DashboardView.vue') },
  { path: '/members', title: '会员', icon: 'User', component: () => import('./views/MembersView.vue') },
  { path: '/marketing', title: '营销', icon: 'Present', component: () => import('./views/MarketingView.vue') },
  { path: '/mall', title: '积分商城', icon: 'ShoppingBag', component: () => import('./views/MallView.vue') },
  { path: '/program', title: '规则设置', icon: 'Setting', component: () => import('./views/ProgramView.vue') },
  { path: '/jobs', title: '任务', icon: 'Timer', component: () => import('./views/JobsView.vue') },
]

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', component: () => import('./views/LoginView.vue'), meta: { public: true, title: '登录' } },
    { path: '/', redirect: '/dashboard' },
    ...PAGES.map((page) => ({ path: page.path, component: page.component, meta: { title: page.title } })),
    {
      path: '/members/:memberId',
      component: () => import('./views/MemberView.vue'),
      props: true,
      meta: { title: '会员详情', section: '/members' },
    },
    { path: '/:unknown(.*)*', redirect: '/dashboard' },
  ],
})

router.beforeEach((to) => {
  if (!to.meta.public && !adminKey()) return { path: '/login', query: { next: to.fullPath } }
  return true
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · 会员中心商户后台`
})

whenUnauthenticated(() => {
  router.push({ path: '/login', query: { next: router.currentRoute.value.fullPath, expired: '1' } })
})
