"""What signing in with OpenID Connect says, Thai first (merged into ``i18n.MESSAGES``)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "th": {
        "login_oidc_button": "เข้าสู่ระบบด้วย OpenID Connect",
        "login_oidc_or": "หรือเข้าสู่ระบบด้วยบัญชีขององค์กร",
        "oidc_no_account_title": "ไม่พบบัญชีผู้ใช้ในระบบ",
        "oidc_no_account_body": "ผู้ให้บริการยืนยันตัวตนได้ยืนยันตัวตนของท่านแล้ว แต่ท่านยังไม่มีบัญชีผู้ใช้ delayhub "
                                "ที่ใช้งานได้ บัญชีผู้ใช้สร้างโดยผู้ดูแลหน่วยงานเท่านั้น "
                                "กรุณาติดต่อผู้ดูแลหน่วยงานเพื่อขอเปิดบัญชี",
        "oidc_role_title": "สิทธิ์ไม่ตรงกับบัญชีผู้ใช้",
        "oidc_role_body": "ผู้ให้บริการยืนยันตัวตนไม่ได้ระบุสิทธิ์ที่ตรงกับบัญชีผู้ใช้ delayhub ของท่าน "
                          "กรุณาติดต่อผู้ดูแลหน่วยงาน",
        "oidc_failed_title": "เข้าสู่ระบบไม่สำเร็จ",
        "oidc_failed_body": "ไม่สามารถยืนยันการเข้าสู่ระบบกับผู้ให้บริการยืนยันตัวตนได้ "
                            "คำขออาจหมดอายุหรือถูกแก้ไข กรุณากลับไปหน้าเข้าสู่ระบบแล้วลองอีกครั้ง",
        "oidc_unavailable_title": "ผู้ให้บริการยืนยันตัวตนไม่พร้อมใช้งาน",
        "oidc_unavailable_body": "ขณะนี้ติดต่อผู้ให้บริการยืนยันตัวตนไม่ได้ กรุณาลองใหม่ภายหลัง "
                                 "หรือเข้าสู่ระบบด้วยชื่อผู้ใช้และรหัสผ่าน",
    },
    "en": {
        "login_oidc_button": "Sign in with OpenID Connect",
        "login_oidc_or": "Or sign in with your organisation's account",
        "oidc_no_account_title": "No account here",
        "oidc_no_account_body": "The identity provider confirmed who you are, but you have no active delayhub "
                                "account. Accounts are made by agency administrators only: ask yours to open one.",
        "oidc_role_title": "Role does not match the account",
        "oidc_role_body": "The identity provider does not grant the role your delayhub account has. "
                          "Ask your agency administrator.",
        "oidc_failed_title": "Sign-in failed",
        "oidc_failed_body": "The sign-in could not be confirmed with the identity provider: the request may have "
                            "expired or been altered. Go back to the sign-in page and try again.",
        "oidc_unavailable_title": "Identity provider unavailable",
        "oidc_unavailable_body": "The identity provider cannot be reached right now. Try again later, or sign in "
                                 "with your username and password.",
    },
}
